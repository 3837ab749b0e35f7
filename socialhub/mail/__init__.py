"""Account mail (password resets, email verification) sent over SMTP with twisted.mail."""
