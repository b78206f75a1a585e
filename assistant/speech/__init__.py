"""Speech: the VAD gate, the streaming hypothesis buffer, the Whisper adapter, attribution and the live pipeline."""
