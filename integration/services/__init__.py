"""The use cases of p2c. Business decisions live here; tasks, views and admin actions call these functions."""
