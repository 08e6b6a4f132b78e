"""Resolver functions, grouped by domain. They never import a provider module: they go through the context."""
