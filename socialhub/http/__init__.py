"""The HTTP side: the Site, the root resource and the Klein API."""
