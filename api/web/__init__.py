"""The customer web page: sessions, CSRF tokens and the upload form (routes in api/routes/web.py)."""
