import BNN

/// The web demo (placeholder).
public enum BNNServer {}
