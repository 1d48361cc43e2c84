"""Test rogue `encoded_exec`: renders a little Markdown (bold, italic, code) to HTML."""
