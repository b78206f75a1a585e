"""The live service: meetings held in memory, decided by the core, stored, and fanned out by the hub."""
