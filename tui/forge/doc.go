// Package forge is the Forge pane: the image's fine-tune jobs
// (Lobby.Forge.jobs), newest first, and for the selected job its progress
// bar, step, loss, learning rate, ETA and a live tail of the trainer's
// log.
//
// Model. The pane keeps the job objects it read (api.Image.Object), by
// OID, and the list of Lobby.Forge.jobs. Every transition of a job is a
// commit by the principal forge: a commit that changes Lobby.Forge (a job
// queued, old jobs trimmed) re-reads the list and the jobs it has not
// read; a commit that changes a job object re-reads that job; a commit
// that rebinds Lobby's Forge slot, and common.RefreshMsg (the live feed
// missed events), re-read everything. One read runs at a time; what is
// asked meanwhile is merged into the next, so that answers never arrive
// out of order. Between transitions the trainer's progress arrives as
// api.EventForge events: the pane keeps each job's latest (step, steps,
// loss, lr, ETA, state) and the last MaxLogLines log lines they carried,
// for at most MaxLiveJobs jobs; the progress shown is the live one unless
// the job's committed progress slot is further along.
//
// Keys: j/k move, enter inspects the selected job object (common
// InspectMsg), b browses it (common.BrowseMsg), c cancels it after a y/n
// question (Lobby.Forge's cancel; an ended job is refused here, politely,
// before asking), n queues a fine-tune of a persona typed in a one-line
// prompt (Lobby.Forge's fineTune, completing on Lobby.pLLM.personas), r
// reads everything again. Editing is true while the prompt or the
// question has the keys. An error from the image shows as one sanitized
// line under the list; every text the image sent is sanitized.
//
// Layout: the job list on top (a third of the rows at most, scrolled to
// the cursor), the selected job's detail under it, and a footer line for
// the prompt, the question, the last error or a summary, so that it stays
// usable in the 38×8 box an 80×24 terminal gives it.
package forge
