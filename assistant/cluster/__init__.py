"""Several instances and transcription workers over NATS JetStream (docs/cluster.md)."""
