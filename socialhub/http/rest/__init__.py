"""REST routes, one module per area; each registers its routes on the Api."""
