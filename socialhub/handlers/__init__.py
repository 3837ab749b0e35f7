"""Business rules per area; they never touch a Request or a protocol object."""
