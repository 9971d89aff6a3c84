"""A second, minimal Django project that installs the uploads app the way the README says."""
