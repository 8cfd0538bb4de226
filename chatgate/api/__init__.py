"""HTTP plumbing shared by every router: request context, authentication, error handlers."""
