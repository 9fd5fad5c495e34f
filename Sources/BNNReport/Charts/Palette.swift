/// Colours and fonts of the charts.
///
/// The series colours are Okabe & Ito's palette ("Color Universal Design", 2008), which stays
/// distinguishable under the common colour-vision deficiencies; charts also vary dash patterns, so
/// that lines stay apart in greyscale print.
public enum Palette {
    public static let black = "#000000"
    public static let orange = "#E69F00"
    public static let skyBlue = "#56B4E9"
    public static let bluishGreen = "#009E73"
    public static let yellow = "#F0E442"
    public static let blue = "#0072B2"
    public static let vermillion = "#D55E00"
    public static let reddishPurple = "#CC79A7"

    /// Series colours in order of use (yellow last: it is faint on white).
    public static let series = [blue, orange, bluishGreen, vermillion, reddishPurple, skyBlue, black, yellow]
    /// Dash patterns paired with `series`, so that the n-th series differs in shape too.
    public static let dashes: [String?] = [nil, "6 3", "2 2", "8 3 2 3", "1 3", "10 4", nil, "4 4"]

    public static func color(_ index: Int) -> String { series[index % series.count] }
    public static func dash(_ index: Int) -> String? { dashes[index % dashes.count] }

    public static let text = "#222222"
    public static let mutedText = "#555555"
    public static let axis = "#444444"
    public static let grid = "#e3e3e3"
    /// Bars of classes that were not selected.
    public static let neutral = "#9a9a9a"

    /// The verdict colours: correct, ambiguous, wrong, refused. The verdict is also written out, never shown by colour alone.
    public static let correct = bluishGreen
    public static let ambiguous = orange
    public static let wrong = vermillion
    public static let refused = blue

    public static let fontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif"
}
