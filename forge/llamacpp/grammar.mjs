// grammar.mjs: sampling under a GBNF grammar in a real llama.cpp.
//
//   node grammar.mjs --model BASE.gguf --grammar FILE [--prompt TEXT]
//                    [--max-tokens N] [--seed S] [--temperature T] [--threads N]
//
// Loads the model on the CPU through node-llama-cpp (its prebuilt llama.cpp,
// never a build or a download), parses the grammar in FILE with llama.cpp's
// GBNF parser and lets the model continue the prompt (default: none, only
// the model's BOS) under it with a LlamaCompletion: a raw completion, no
// chat template, sampled at temperature T (default 0.8) from seed S
// (default 1), without a repeat penalty, for at most N tokens (default
// 400). Prints one JSON line:
//
//   {"text": "...the generated text...", "stopReason": "eogToken",
//    "tokens": 123, "warnings": [...llama.cpp's warnings and errors...]}
//
// stopReason is node-llama-cpp's: "eogToken" when the model ended the
// text (under a grammar llama.cpp allows the end-of-generation token only
// where the grammar is complete), "maxTokens" when N tokens ran out first.
//
// On an error: one line on stderr and exit status 1. A grammar llama.cpp
// cannot parse is such an error; the line begins "grammar.mjs: error: the
// grammar does not parse:" and carries llama.cpp's reason.
import fs from "node:fs";
import process from "node:process";

function fail(msg) {
    process.stderr.write(`grammar.mjs: error: ${String(msg).replace(/\s*\n\s*/g, " ").trim()}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const a = { prompt: "", maxTokens: 400, seed: 1, temperature: 0.8, threads: 1 };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) fail(`${flag} needs a value`);
            return argv[++i];
        };
        switch (flag) {
        case "--model": a.model = value(); break;
        case "--grammar": a.grammar = value(); break;
        case "--prompt": a.prompt = value(); break;
        case "--max-tokens": a.maxTokens = Number(value()); break;
        case "--seed": a.seed = Number(value()); break;
        case "--temperature": a.temperature = Number(value()); break;
        case "--threads": a.threads = Number(value()); break;
        default: fail(`unknown argument ${JSON.stringify(flag)} (usage: --model BASE.gguf --grammar FILE [--prompt TEXT] [--max-tokens N] [--seed S] [--temperature T] [--threads N])`);
        }
    }
    if (!a.model) fail("--model is required");
    if (!a.grammar) fail("--grammar is required");
    if (!Number.isInteger(a.maxTokens) || a.maxTokens < 1) fail("--max-tokens must be an integer >= 1");
    if (!Number.isSafeInteger(a.seed) || a.seed < 0) fail("--seed must be a non-negative integer");
    if (!Number.isFinite(a.temperature) || a.temperature < 0) fail("--temperature must be a number >= 0");
    if (!Number.isInteger(a.threads) || a.threads < 1) fail("--threads must be an integer >= 1");
    for (const f of [a.model, a.grammar]) {
        if (!fs.existsSync(f)) fail(`${f} does not exist`);
    }
    return a;
}

const args = parseArgs(process.argv.slice(2));

// llama.cpp's grammar parser writes its reason for refusing a grammar
// straight to the process's stderr, several lines that bypass the logger.
// So the work runs in a child process whose stderr this one reads: on
// success the child's stderr passes through; on a failure this process
// prints the child's error line, with llama.cpp's parse error when there is
// one, as the single line on stderr.
if (process.env.BATOS_GRAMMAR_MJS_CHILD !== "1") {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        stdio: ["ignore", "inherit", "pipe", "ipc"],
        env: { ...process.env, BATOS_GRAMMAR_MJS_CHILD: "1" },
    });
    const chunks = [];
    child.stderr.on("data", (b) => chunks.push(b));
    const forward = (signal) => process.on(signal, () => child.kill(signal));
    forward("SIGTERM");
    forward("SIGINT");
    const [code, signal] = await new Promise((resolve) => child.on("close", (c, s) => resolve([c, s])));
    const stderr = Buffer.concat(chunks).toString("utf8");
    if (code === 0) {
        process.stderr.write(stderr);
        process.exit(0);
    }
    const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
    let msg = lines.findLast((l) => l.startsWith("grammar.mjs: error: "))?.slice("grammar.mjs: error: ".length) ??
        `node exited with ${signal ?? `status ${code}`}${lines.length ? `: ${lines.at(-1)}` : ""}`;
    const parse = lines.find((l) => /error parsing grammar/i.test(l));
    if (parse !== undefined) msg += ` (llama.cpp: ${parse})`;
    fail(msg);
}

// The child ends when the parent does, even when the parent is killed.
if (process.channel) {
    process.channel.unref();
    process.on("disconnect", () => process.exit(1));
}
const grammarText = fs.readFileSync(args.grammar, "utf8");

let nlc;
try {
    nlc = await import("node-llama-cpp");
} catch (e) {
    fail(`cannot load node-llama-cpp (run: npm ci --prefix forge/llamacpp): ${e.message}`);
}
const { getLlama, LlamaLogLevel, LlamaCompletion } = nlc;

const warnings = [];
const log = (level, message) => {
    const text = String(message).trim();
    if (text.length > 0) warnings.push(`${level}: ${text}`);
};

// llama.cpp's reason for refusing a grammar, from what it logged: the
// "parse: error parsing grammar: ..." line, else the last error.
function grammarReason() {
    const parse = warnings.filter((w) => /pars(e|ing)/i.test(w) && /grammar/i.test(w));
    const errors = warnings.filter((w) => w.startsWith("error"));
    const w = parse[0] ?? errors.at(-1) ?? warnings.at(-1);
    return w === undefined ? "" : ` (llama.cpp: ${w})`;
}

let llama, model, context, completion;
try {
    llama = await getLlama({
        gpu: false,
        build: "never", // the prebuilt binary or nothing: no source download, no cmake
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        logLevel: LlamaLogLevel.warn,
        logger: log,
        maxThreads: args.threads,
    });
} catch (e) {
    fail(`cannot start llama.cpp: ${e?.message ?? e}`);
}

let grammar;
try {
    const before = warnings.length;
    grammar = await llama.createGrammar({ grammar: grammarText });
    // Some builds log the parse error and return an unusable grammar
    // rather than throw: treat a logged grammar error as a refusal.
    if (warnings.slice(before).some((w) => w.startsWith("error") && /grammar/i.test(w))) {
        throw new Error("llama.cpp rejected it");
    }
} catch (e) {
    fail(`the grammar does not parse: ${e?.message ?? e}${grammarReason()}`);
}

try {
    model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
    const promptTokens = model.tokenize(args.prompt).length + 1; // and BOS
    const size = Math.max(64, promptTokens + args.maxTokens + 8);
    context = await model.createContext({
        contextSize: size,
        batchSize: Math.min(size, 512),
        sequences: 1,
        flashAttention: false,
        threads: args.threads,
    });
    completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    let tokens = 0;
    const res = await completion.generateCompletionWithMeta(args.prompt, {
        grammar,
        maxTokens: args.maxTokens,
        temperature: args.temperature,
        seed: args.seed,
        repeatPenalty: false,
        disableContextShift: true,
        onToken: (t) => { tokens += t.length; },
    });
    console.log(JSON.stringify({ text: res.response, stopReason: res.metadata.stopReason, tokens, warnings }));
} catch (e) {
    fail(`${e?.message ?? e}${warnings.length ? ` (llama.cpp: ${warnings.at(-1)})` : ""}`);
} finally {
    completion?.dispose();
    await context?.dispose();
    await model?.dispose();
}
