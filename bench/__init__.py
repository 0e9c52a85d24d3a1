"""Side-by-side benchmarks that stay out of the product packages."""
