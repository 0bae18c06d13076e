"""Pipeline stages. Each module keeps its text logic Beam-free at the top and a thin Beam wrapper at the bottom."""
