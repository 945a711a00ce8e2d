// Package entropy is the Entropy pane: the image's Composite Entropy
// Metric (kernel/entropy), its current reading and its recorded series as
// sparklines, and the autotelic loop's ledger.
//
// For each component — CEM, H_rel relevance, H_cog cognitive diversity,
// H_sol solution novelty, H_struc structural complexity — a row shows the
// current value (Lobby.entropy's measure, which commits nothing), its
// weight (Lobby.entropy.weights; CEM is their weighted sum) and a
// sparkline of Lobby.entropy.series: the newest readings that fit the
// width, oldest left, one cell each, eight heights over 0..1 (as `batos
// entropy` draws them), a space where a reading lacks the component.
// Under them: how many generation records the reading measured (and the
// window's size), how many readings the series holds and when the newest
// was recorded.
//
// Model. The pane finds Lobby.entropy (Lobby's entropy slot) and keeps
// its slots and the last reading. Reading the slots (the series, the
// weights) is an api.Image Object call; measuring is a Send of measure,
// which walks the whole image and runs in the client's one evaluation
// slot (it waits behind the workspace's evaluation, delays the next, and
// tells every attached client this one is busy). So the pane measures
// only when first shown (focused), when asked (r), and — once shown — when
// a commit changes Lobby.entropy (the recorder's, as principal entropy,
// after the pLLM's commits; an R; a weight edited), except for the commit
// of the pane's own R, whose reading it shows already; never on a timer,
// nor on other commits. Init and any commit that changes Lobby.entropy
// re-read its slots; a commit that rebinds Lobby's entropy slot, and
// common.RefreshMsg, find it again (and measure, once shown). One read
// runs at a time; what is asked meanwhile is merged into the next, so
// that answers never arrive out of order. The status bar's CEM is not the
// pane's: it is api.Status's, the newest reading recorded in the series.
//
// Keys: r measures now, R records a reading (Lobby.entropy's record: it
// measures and appends to the series, a commit), enter inspects
// Lobby.entropy (common.InspectMsg), b browses it (common.BrowseMsg).
// Errors from the image show as one sanitized line in the footer; every
// text the image sent is sanitized.
//
// Under the metric, where the pane has room for it, the autotelic loop
// that steers by it (package autotelic, Lobby.autotelic): its state (the
// switch, the threshold and the period), what the last hour used of each
// budget, the summary of the last step this pane ran, and the newest
// ledger entries that fit, one a line, newest last. Init, a commit that
// changes Lobby.autotelic (a switch, a step's ledger entry) or rebinds
// Lobby's autotelic slot, and common.RefreshMsg read it again; an image
// without one shows no section. The app's :autotelic verbs come here:
// SwitchCmd flips the switch, and StepMsg has the pane run one step (a
// Send of Lobby.autotelic's step, which can take a minute and holds the
// client's evaluation slot meanwhile), off the UI loop: the pane is
// common.Busy until it ends, Cancel cancels it, and it tells the app the
// summary's first line or the error.
//
// Layout: the five component rows first, then the window and the series,
// then a footer line (the last action's outcome, an error, or when the
// reading was measured), so that the 38×8 box an 80×24 terminal gives
// it shows everything. From 64 columns the rows carry the components'
// long names, a column header (from 12 rows) and the recorder's interval.
package entropy
