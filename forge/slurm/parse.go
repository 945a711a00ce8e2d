package slurm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"batos/forge"
)

// This file reads what squeue and scontrol print. Slurm's text output is
// made for people, and some fields hold free text (the job's name, its
// command, its paths, comments) that can look like KEY=VALUE pairs; the
// parsers read only the fields they need, where Slurm puts them, and take
// any other input without panicking (FuzzParseJobState).

// parseSqueue reads `squeue -h --jobs=ID -o %T`: the job's state name on
// the first line, or nothing when squeue no longer lists the job.
func parseSqueue(out string) (state string, listed bool) {
	for _, line := range strings.Split(out, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return stateName(line), true
		}
	}
	return "", false
}

// stateName is the leading state word of a Slurm state as printed:
// "CANCELLED by 0" and "CANCELLED+" are CANCELLED.
func stateName(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 'A' && s[end] <= 'Z') {
		end++
	}
	return s[:end]
}

// freeText are the scontrol fields whose value runs to the end of their
// line and may hold anything, "JobState=" included.
var freeText = map[string]bool{
	"JobName": true, "Command": true, "WorkDir": true, "StdErr": true, "StdIn": true,
	"StdOut": true, "Comment": true, "AdminComment": true, "SystemComment": true,
	"Reason": true, "Features": true, "Dependency": true,
}

// parseJob reads `scontrol show job ID`, whose record is
//
//	JobId=5 JobName=long.sh
//	   UserId=root(0) GroupId=root(0) MCS_label=N/A
//	   JobState=TIMEOUT Reason=TimeLimit Dependency=(null)
//	   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15
//	   …
//
// The record is the one whose first field is JobId=id (a job array or a
// heterogeneous job prints several). JobState is taken where it opens a
// line; ExitCode from lines that hold no free text before it: scanning a
// line stops at the first free-text field.
func parseJob(out, id string) (forge.Status, error) {
	var state, exit string
	var inRecord, found bool
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			inRecord = false
			continue
		}
		if k, v, _ := strings.Cut(fields[0], "="); k == "JobId" {
			inRecord = v == id && !found
			found = found || inRecord
			continue // the rest of the line is JobName's
		}
		if !inRecord {
			continue
		}
		for i, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok || freeText[k] {
				break
			}
			switch {
			case k == "JobState" && i == 0 && state == "":
				state = stateName(v)
			case k == "ExitCode" && exit == "":
				exit = v
			}
		}
	}
	if !found {
		return forge.Status{}, fmt.Errorf("no record for job %q in %q", id, clip(out))
	}
	if state == "" {
		return forge.Status{}, fmt.Errorf("no JobState for job %q in %q", id, clip(out))
	}
	code, signal, err := parseExitCode(exit)
	if err != nil && state == "FAILED" {
		return forge.Status{}, fmt.Errorf("job %q: %w", id, err)
	}
	st, known := mapState(state, code, signal)
	if !known {
		return forge.Status{}, fmt.Errorf("job %q: unknown job state %q", id, state)
	}
	return st, nil
}

// parseExitCode reads scontrol's ExitCode=CODE:SIGNAL.
func parseExitCode(s string) (code, signal int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad ExitCode %q", clip(s))
	}
	code, err1 := strconv.Atoi(a)
	signal, err2 := strconv.Atoi(b)
	if err := errors.Join(err1, err2); err != nil || code < 0 || code > 255 || signal < 0 || signal > 255 {
		return 0, 0, fmt.Errorf("bad ExitCode %q", clip(s))
	}
	return code, signal, nil
}

// mapState maps a Slurm job state to forge's; known is false for a state
// this backend has never heard of. code and signal are the batch script's
// exit (the command's, which the script passes on), for FAILED.
func mapState(state string, code, signal int) (st forge.Status, known bool) {
	switch state {
	case "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
		"REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING",
		"STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "POWER_UP_NODE":
		// Queued, starting, running, paused, or ending: not ended yet.
		return forge.Status{State: forge.StateRunning}, true
	case "COMPLETED":
		return forge.Status{State: forge.StateSucceeded}, true
	case "FAILED":
		switch {
		case code != 0:
			return forge.Status{State: forge.StateFailed, ExitCode: code, Reason: fmt.Sprintf("exit status %d", code)}, true
		case signal != 0:
			return forge.Status{State: forge.StateFailed, Reason: fmt.Sprintf("signal %d", signal)}, true
		}
		// Failed before the command could say why (a launch failure).
		return forge.Status{State: forge.StateFailed, Reason: state}, true
	case "TIMEOUT":
		return forge.Status{State: forge.StateTimedOut, Reason: state}, true
	case "CANCELLED":
		return forge.Status{State: forge.StateCancelled, Reason: state}, true
	case "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED",
		"SPECIAL_EXIT", "REVOKED", "LAUNCH_FAILED", "RECONFIG_FAIL":
		// Slurm failed the job, whatever the command did.
		return forge.Status{State: forge.StateFailed, Reason: state}, true
	}
	return forge.Status{}, false
}

// clip bounds a piece of output quoted in an error.
func clip(s string) string {
	if len(s) > 200 {
		return oneLine(s[:200]) + "…"
	}
	return oneLine(s)
}
