"""The PostgreSQL warehouse: where it is, its raw schema, and the window writer."""
