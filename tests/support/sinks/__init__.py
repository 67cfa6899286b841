"""Real servers that stand in for the providers in tests: an SMTP server and HTTP endpoints that speak
the SMS and push providers' request formats."""
