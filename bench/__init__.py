"""Side-by-side benchmarks (DESIGN.md: performance budgets), outside the product packages."""
