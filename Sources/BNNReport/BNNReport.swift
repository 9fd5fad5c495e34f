import BNN

/// SVG charts and the self-contained HTML report (placeholder).
public enum BNNReport {}
