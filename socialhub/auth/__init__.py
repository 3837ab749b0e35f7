"""Who the caller is: password hashing, sessions and the login failure limit."""
