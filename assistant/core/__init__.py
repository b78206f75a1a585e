"""The pure domain: events, the meeting fold, the fair queue and commands. No I/O, no clock, no asyncio."""
