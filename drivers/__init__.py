"""Hardware edge: card readers, camera + QR decoding, gate I/O. Each with a fake for demo mode."""
