"""ftaas API: a stateless Litestar app that validates job specs and stores artifacts. Never imports torch."""
