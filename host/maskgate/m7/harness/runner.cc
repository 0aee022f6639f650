// Runs one .tflite in TFLite Micro (the libtflm library the user gives) on the emulated
// Cortex-M7 and counts the instructions each Invoke() and each operator executes.
//
// The host puts a blob in PSRAM before reset (QEMU -device loader): a header, the model, the
// input tensors of `count` inferences, and room for the arena. For each inference the runner
// copies the inputs in, counts Invoke() and prints the outputs; for the first `profile`
// inferences a second interpreter, whose op resolver hands out the same kernels behind a
// counting trampoline, gives the count of every operator. The plain interpreter is the one the
// firmware has (MicroMutableOpResolver, no profiler): its Invoke() is the figure reported.
// Output is one text line per fact over semihosting; maskgate/m7/emulator.py reads it.
#include <stdint.h>
#include <string.h>

#include <utility>

#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

extern "C" {
#include "counter.h"
#include "semihost.h"
}

namespace {

struct Blob {
    uint32_t magic;  // "MG71"
    uint32_t model_offset, model_size;
    uint32_t input_offset, input_bytes;  // all input tensors of one inference, in order
    uint32_t count;                      // inferences
    uint32_t profile;                    // the first `profile` of them are also counted per op
    uint32_t arena_offset, arena_size;
};
constexpr uint32_t kMagic = 0x3137474du;  // "MG71" little-endian
const Blob &blob = *reinterpret_cast<const Blob *>(0x60000000u);
const uint8_t *base() { return reinterpret_cast<const uint8_t *>(&blob); }

using Resolver = tflite::MicroMutableOpResolver<48>;

void add_ops(Resolver &r) {
    r.AddAdd(); r.AddAveragePool2D(); r.AddBatchMatMul(); r.AddConcatenation(); r.AddConv2D();
    r.AddDepthwiseConv2D(); r.AddDequantize(); r.AddExpandDims(); r.AddFullyConnected(); r.AddGather();
    r.AddHardSwish(); r.AddLeakyRelu(); r.AddLogistic(); r.AddMaximum(); r.AddMaxPool2D(); r.AddMean();
    r.AddMinimum(); r.AddMul(); r.AddPack(); r.AddPad(); r.AddPadV2(); r.AddPrelu(); r.AddQuantize();
    r.AddReduceMax(); r.AddRelu(); r.AddRelu6(); r.AddReshape(); r.AddResizeBilinear();
    r.AddResizeNearestNeighbor(); r.AddShape(); r.AddSlice(); r.AddSoftmax(); r.AddSplit(); r.AddSplitV();
    r.AddSqueeze(); r.AddStridedSlice(); r.AddSub(); r.AddSum(); r.AddTanh(); r.AddTranspose();
    r.AddTransposeConv(); r.AddUnpack();
}

// ---- per-operator counting: one trampoline per builtin code, around the library's kernel.
// A bracket also holds the call into the kernel (load of its address, BLX, the status move):
// a few instructions per operator, no more (runner totals and per-op sums agree to that).
constexpr int kCodes = 256;
constexpr int kMaxOps = 512;
TfLiteStatus (*original[kCodes])(TfLiteContext *, TfLiteNode *);
uint32_t op_ticks[kMaxOps];
int ops_seen;

template <int K>
TfLiteStatus counted(TfLiteContext *context, TfLiteNode *node) {
    uint32_t t0 = counter_read();
    TfLiteStatus status = original[K](context, node);
    uint32_t t1 = counter_read();
    if (ops_seen < kMaxOps) op_ticks[ops_seen] = t0 - t1;
    ops_seen++;
    return status;
}

using Invoke = TfLiteStatus (*)(TfLiteContext *, TfLiteNode *);
template <int... K>
constexpr auto trampoline_table(std::integer_sequence<int, K...>) {
    struct Table { Invoke fn[sizeof...(K)]; };
    return Table{{&counted<K>...}};
}
constexpr auto kTrampolines = trampoline_table(std::make_integer_sequence<int, kCodes>{});

class CountingResolver : public tflite::MicroOpResolver {
  public:
    explicit CountingResolver(const tflite::MicroOpResolver &inner) : inner_(inner) {}
    const TFLMRegistration *FindOp(tflite::BuiltinOperator op) const override {
        const TFLMRegistration *found = inner_.FindOp(op);
        int code = static_cast<int>(op);
        if (found == nullptr || code < 0 || code >= kCodes) return found;
        original[code] = found->invoke;
        wrapped_[code] = *found;
        wrapped_[code].invoke = kTrampolines.fn[code];
        return &wrapped_[code];
    }
    const TFLMRegistration *FindOp(const char *op) const override { return inner_.FindOp(op); }
    tflite::TfLiteBridgeBuiltinParseFunction GetOpDataParser(tflite::BuiltinOperator op) const override {
        return inner_.GetOpDataParser(op);
    }

  private:
    const tflite::MicroOpResolver &inner_;
    mutable TFLMRegistration wrapped_[kCodes];
};

// TFLM's own messages (a _with_logs library has them; the release one strips them).
void tflm_log(const char *s) {
    if (s[0] == 0 || (s[0] == '\r' && s[1] == '\n' && s[2] == 0)) return;
    sh_puts("log ");
    sh_puts(s);
    sh_puts("\n");
}

void line(const char *what, uint32_t a) {
    sh_line_begin(); sh_str(what); sh_str(" "); sh_dec(a); sh_line_end();
}

void line(const char *what, uint32_t a, uint32_t b) {
    sh_line_begin(); sh_str(what); sh_str(" "); sh_dec(a); sh_str(" "); sh_dec(b); sh_line_end();
}

void line(const char *what, uint32_t a, uint32_t b, uint32_t c) {
    sh_line_begin(); sh_str(what); sh_str(" "); sh_dec(a); sh_str(" "); sh_dec(b); sh_str(" "); sh_dec(c);
    sh_line_end();
}

// Copies inference k's inputs into the interpreter; false when the sizes disagree.
bool fill_inputs(tflite::MicroInterpreter &interpreter, uint32_t k) {
    const uint8_t *src = base() + blob.input_offset + k * blob.input_bytes;
    uint32_t total = 0;
    for (size_t i = 0; i < interpreter.inputs_size(); i++) {
        TfLiteTensor *t = interpreter.input(i);
        total += t->bytes;
        if (total > blob.input_bytes) return false;
        memcpy(t->data.raw, src, t->bytes);
        src += t->bytes;
    }
    return total == blob.input_bytes;
}

void print_outputs(tflite::MicroInterpreter &interpreter, uint32_t k) {
    for (size_t j = 0; j < interpreter.outputs_size(); j++) {
        TfLiteTensor *t = interpreter.output(j);
        sh_line_begin(); sh_str("out "); sh_dec(k); sh_str(" "); sh_dec(j); sh_str(" ");
        sh_hexbytes(reinterpret_cast<const uint8_t *>(t->data.raw), t->bytes);
        sh_line_end();
    }
}

int run_plain(const tflite::Model *model, const tflite::MicroOpResolver &resolver, uint8_t *arena) {
    tflite::MicroInterpreter interpreter(model, resolver, arena, blob.arena_size);
    if (interpreter.AllocateTensors() != kTfLiteOk) { sh_puts("error AllocateTensors failed\n"); return 2; }
    line("arena_used", interpreter.arena_used_bytes());
    for (uint32_t k = 0; k < blob.count; k++) {
        if (!fill_inputs(interpreter, k)) { sh_puts("error input size differs from the model's\n"); return 2; }
        uint32_t t0 = counter_read();
        TfLiteStatus status = interpreter.Invoke();
        uint32_t t1 = counter_read();
        line("invoke", k, t0 - t1, status);
        if (status != kTfLiteOk) return 2;
        print_outputs(interpreter, k);
    }
    return 0;
}

int run_profiled(const tflite::Model *model, const tflite::MicroOpResolver &resolver, uint8_t *arena) {
    CountingResolver counting(resolver);
    tflite::MicroInterpreter interpreter(model, counting, arena, blob.arena_size);
    if (interpreter.AllocateTensors() != kTfLiteOk) { sh_puts("error AllocateTensors failed\n"); return 2; }
    for (uint32_t k = 0; k < blob.profile && k < blob.count; k++) {
        if (!fill_inputs(interpreter, k)) return 2;
        ops_seen = 0;
        if (interpreter.Invoke() != kTfLiteOk) return 2;
        for (int i = 0; i < ops_seen && i < kMaxOps; i++) line("op", k, i, op_ticks[i]);
        line("ops", k, ops_seen);
    }
    return 0;
}

}  // namespace

int main() {
    RegisterDebugLogCallback(tflm_log);
    counter_start();
    uint32_t c0 = counter_read();
    uint32_t c1 = counter_read();
    line("calib", c0 - c1);
    if (blob.magic != kMagic) { sh_puts("error no model blob at 0x60000000\n"); return 2; }
    const tflite::Model *model = tflite::GetModel(base() + blob.model_offset);
    if (model->version() != TFLITE_SCHEMA_VERSION) { sh_puts("error unsupported model schema\n"); return 2; }
    line("operators", model->subgraphs()->Get(0)->operators()->size());
    static Resolver resolver;
    add_ops(resolver);
    uint8_t *arena = const_cast<uint8_t *>(base()) + blob.arena_offset;
    int rc = run_plain(model, resolver, arena);
    if (rc == 0) rc = run_profiled(model, resolver, arena);
    if (rc == 0) sh_puts("done\n");
    return rc;
}
