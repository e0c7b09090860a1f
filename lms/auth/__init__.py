"""Sign-in: accounts, roles, passwords, the company directory and sign-in throttling."""
