// check.mjs: greedy decoding in a real llama.cpp, for comparison with PyTorch.
//
//   node check.mjs --model BASE.gguf [--lora ADAPTER.gguf [--scale 1.0]]
//                  --ids 1,5,9 [--n 8] [--all-logprobs] [--threads N]
//
// Loads the model on the CPU through node-llama-cpp (its prebuilt llama.cpp,
// never a build or a download), creates a context with the LoRA adapter
// applied at the scale when one is given, evaluates the prompt ids and
// greedily generates n tokens. Prints one JSON line:
//
//   {"tokens": [...the n greedy continuation ids...],
//    "logprobs": [[...log p of every vocabulary id at the first generated position...]],
//    "vocab": 259, "warnings": [...llama.cpp's warnings and errors...]}
//
// logprobs are the natural logs of llama.cpp's softmax over the raw logits
// (greedy sampling leaves them untouched), so they are the logits up to one
// additive constant per row: compare them with log_softmax of another
// implementation's logits. With --all-logprobs there is one row per
// generated token (row i is the distribution token i was chosen from), like
// greedy.py's --all-logits. The KV cache is F32, not llama.cpp's default F16,
// so that the numbers are comparable with a float32 reference. --threads
// defaults to 1: on a small machine llama.cpp's thread pool spends hundreds
// of milliseconds per token on a tiny model, one thread about a millisecond.
//
// On an error: one line on stderr and exit status 1.
import fs from "node:fs";
import process from "node:process";

function fail(msg) {
    process.stderr.write(`check.mjs: error: ${String(msg).split("\n")[0]}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const a = { scale: 1, n: 8, allLogprobs: false, threads: 1 };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) fail(`${flag} needs a value`);
            return argv[++i];
        };
        switch (flag) {
        case "--model": a.model = value(); break;
        case "--lora": a.lora = value(); break;
        case "--scale": a.scale = Number(value()); break;
        case "--ids": a.ids = value(); break;
        case "--n": a.n = Number(value()); break;
        case "--threads": a.threads = Number(value()); break;
        case "--all-logprobs": a.allLogprobs = true; break;
        default: fail(`unknown argument ${JSON.stringify(flag)} (usage: --model BASE.gguf [--lora ADAPTER.gguf --scale 1.0] --ids 1,5,9 --n 8 [--all-logprobs] [--threads N])`);
        }
    }
    if (!a.model) fail("--model is required");
    if (a.ids === undefined) fail("--ids is required");
    if (!Number.isFinite(a.scale)) fail("--scale must be a number");
    if (!Number.isInteger(a.n) || a.n < 1) fail("--n must be an integer >= 1");
    if (!Number.isInteger(a.threads) || a.threads < 1) fail("--threads must be an integer >= 1");
    const parts = a.ids.split(",").map((s) => s.trim()).filter((s) => s !== "");
    a.ids = parts.map(Number);
    if (a.ids.length === 0 || a.ids.some((id, i) => !/^\d+$/.test(parts[i]) || !Number.isSafeInteger(id))) {
        fail("--ids must be comma-separated non-negative integers");
    }
    for (const f of [a.model, a.lora]) {
        if (f !== undefined && !fs.existsSync(f)) fail(`${f} does not exist`);
    }
    return a;
}

const args = parseArgs(process.argv.slice(2));

let nlc;
try {
    nlc = await import("node-llama-cpp");
} catch (e) {
    fail(`cannot load node-llama-cpp (run: npm ci --prefix forge/llamacpp): ${e.message}`);
}
const { getLlama, LlamaLogLevel } = nlc;

const warnings = [];
const log = (level, message) => {
    const text = `${level}: ${String(message).trim()}`;
    if (text.length > 0) warnings.push(text);
};

let model, context;
try {
    const llama = await getLlama({
        gpu: false,
        build: "never", // the prebuilt binary or nothing: no source download, no cmake
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        logLevel: LlamaLogLevel.warn,
        logger: log,
        maxThreads: args.threads,
    });
    model = await llama.loadModel({ modelPath: args.model, gpuLayers: 0 });
    const vocab = Number(model.fileInfo?.metadata?.tokenizer?.ggml?.tokens?.length ?? 0);
    const bad = args.ids.find((id) => vocab > 0 && id >= vocab);
    if (bad !== undefined) fail(`--ids: ${bad} is not below the model's vocabulary size ${vocab}`);
    const size = args.ids.length + args.n;
    const options = {
        contextSize: Math.max(32, size),
        batchSize: Math.max(32, size),
        sequences: 1,
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
        threads: args.threads,
    };
    if (args.lora !== undefined) {
        options.lora = { adapters: [{ filePath: args.lora, scale: args.scale }] };
    }
    context = await model.createContext(options);
    const sequence = context.getSequence();

    const tokens = [];
    const rows = [];
    let nVocab = 0;
    // Evaluate the prompt, then feed back each chosen token; every step
    // asks for the greedy token (temperature 0) and the full distribution.
    let input = args.ids.slice(0, -1).map((id) => id);
    let last = args.ids.at(-1);
    for (let step = 0; step < args.n; step++) {
        input.push([last, { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } }]);
        const out = await sequence.controlledEvaluate(input);
        const next = out.at(-1)?.next;
        if (next?.token == null || next.probabilities == null) fail(`llama.cpp generated no token at step ${step}`);
        const probs = next.probabilities;
        nVocab = probs.size;
        if (step === 0 || args.allLogprobs) {
            const row = new Array(nVocab).fill(null);
            for (const [token, p] of probs) row[token] = Math.log(p);
            rows.push(row);
        }
        tokens.push(next.token);
        last = next.token;
        input = [];
    }
    console.log(JSON.stringify({ tokens, logprobs: rows, vocab: nVocab, warnings }));
} catch (e) {
    fail(`${e?.message ?? e}${warnings.length ? ` (llama.cpp: ${warnings.at(-1)})` : ""}`);
} finally {
    await context?.dispose();
    await model?.dispose();
}
