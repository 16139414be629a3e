"""What people look at: drawings of a flow (Mermaid, DOT) with a run's path overlaid."""
