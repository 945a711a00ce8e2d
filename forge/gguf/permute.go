package gguf

import "fmt"

// permuteRotaryRows reorders the rows of a row-major rows×cols matrix from
// Hugging Face's rotary layout to llama.cpp's, as convert_hf_to_gguf.py's
// LlamaModel.permute does:
//
//	w.reshape(heads, 2, rows//heads//2, cols).swapaxes(1, 2).reshape(rows, cols)
//
// Within each head of d = rows/heads rows, Hugging Face rotates row i with
// row i+d/2; llama.cpp rotates adjacent rows. So output row h·d + 2i + j is
// input row h·d + j·d/2 + i, for i < d/2 and j in {0, 1}.
//
// The q projection is permuted with the query heads, the k projection with
// the key/value heads. Only the output (row) axis moves, so a LoRA's lora_B
// (out × r) gets the same permutation as the weight it adapts, and its
// lora_A is unchanged.
func permuteRotaryRows(w []float32, rows, cols, heads int) ([]float32, error) {
	if heads <= 0 || rows%(2*heads) != 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("cannot permute %d×%d rows (%d values) over %d heads", rows, cols, len(w), heads)
	}
	d := rows / heads
	half := d / 2
	out := make([]float32, len(w))
	for h := range heads {
		for i := range half {
			for j := range 2 {
				dst := (h*d + 2*i + j) * cols
				src := (h*d + j*half + i) * cols
				copy(out[dst:dst+cols], w[src:src+cols])
			}
		}
	}
	return out, nil
}
