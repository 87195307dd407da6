"""gatepass: estate gate kiosk."""
