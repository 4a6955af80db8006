"""What people see: the `vgrad` command line and its reports."""
