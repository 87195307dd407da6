"""Office server: sync API for gates, web console for staff, exports."""
