// Loads the files TestLlamaCppLoadsConvertedFiles wrote into llama.cpp (through
// node-llama-cpp) and prints what it saw as one JSON object.
//
// usage: node llamacpp_check.mjs NODE_LLAMA_CPP_PACKAGE_DIR WORK_DIR
//
// WORK_DIR holds base.gguf, adapter.gguf (for base.gguf), merged.gguf (the
// base with the adapter merged in before conversion) and unpermuted.gguf (the
// adapter without the rotary permutation of q and k), and space.gguf (a base
// whose vocabulary adds a normal "▁" token to ByteVocab).
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pkgDir, work] = process.argv.slice(2);
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(pkgDir, "dist", "index.js")).href);

const warnings = [];
const llama = await getLlama({
    gpu: false,
    build: "never",
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => warnings.push(`${level}: ${message.trim()}`),
});

const text = "Hi, llama!\nbytes: \u00fc\u20ac";
const prompt = [1, 3 + 72, 3 + 105, 3 + 32, 3 + 119, 3 + 0xE2, 3 + 10, 3 + 33];

async function nextProbabilities(modelFile, adapterFile) {
    const model = await llama.loadModel({ modelPath: path.join(work, modelFile) });
    const options = { contextSize: 64, batchSize: 64, sequences: 1 };
    if (adapterFile) {
        options.lora = { adapters: [{ filePath: path.join(work, adapterFile), scale: 1 }] };
    }
    const context = await model.createContext(options);
    const sequence = context.getSequence();
    const input = prompt.slice(0, -1).concat([[prompt.at(-1), { generateNext: { probabilities: true } }]]);
    const out = await sequence.controlledEvaluate(input);
    const probs = [];
    for (const [token, p] of out.at(-1).next.probabilities) {
        probs[token] = p;
    }
    const info = {
        tokens: model.tokenize(text),
        detokenized: model.detokenize(model.tokenize(text)),
        bos: model.tokens.bos,
        eos: model.tokens.eos,
    };
    await context.dispose();
    await model.dispose();
    return { probs, info };
}

function maxDiff(a, b) {
    let d = 0;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        d = Math.max(d, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    }
    return d;
}

const merged = await nextProbabilities("merged.gguf");
const adapted = await nextProbabilities("base.gguf", "adapter.gguf");
const plain = await nextProbabilities("base.gguf");
const unpermuted = await nextProbabilities("base.gguf", "unpermuted.gguf");

const spaceModel = await llama.loadModel({ modelPath: path.join(work, "space.gguf") });
const spaceDetokenized = spaceModel.detokenize(spaceModel.tokenize(text));
await spaceModel.dispose();

console.log(JSON.stringify({
    tokens: adapted.info.tokens,
    text,
    detokenized: adapted.info.detokenized,
    spaceDetokenized,
    bos: adapted.info.bos,
    eos: adapted.info.eos,
    adapterVsMerged: maxDiff(adapted.probs, merged.probs),
    baseVsMerged: maxDiff(plain.probs, merged.probs),
    unpermutedVsMerged: maxDiff(unpermuted.probs, merged.probs),
    probabilitySum: adapted.probs.reduce((s, p) => s + (p ?? 0), 0),
    warnings,
}));
