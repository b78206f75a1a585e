"""Audio I/O: sources (devices, files), the hall loudspeaker and its jitter buffer, listening, the hall uplink."""
