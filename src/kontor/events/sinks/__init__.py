"""One module per sink: RabbitMQ, NATS JetStream, webhooks. Each implements ``relay.Sink``."""
