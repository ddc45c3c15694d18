"""logscan: find what your web server does not support, from its access logs."""
