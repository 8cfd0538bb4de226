"""chatgate: a self-hosted LLM gateway."""
