"""Black-box test harness for warren: start a broker per test (or use RabbitMQ)."""
