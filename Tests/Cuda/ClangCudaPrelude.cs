using System.Text;

namespace GpuAttention.Tests.Cuda;

/// <summary>
/// What clang needs in front of a generated CUDA source to compile it as NVRTC would, with no CUDA toolkit: clang is
/// run with <c>-nocudainc -nocudalib</c>, so it knows the CUDA language but none of the CUDA headers. The prelude
/// declares the qualifiers (as attributes, as clang's own <c>__clang_cuda_runtime_wrapper.h</c> does), the built-in
/// variables (<c>threadIdx</c>, <c>blockIdx</c>, <c>blockDim</c>, <c>gridDim</c> from clang's
/// <c>&lt;__clang_cuda_builtin_vars.h&gt;</c>), and the device functions that NVRTC provides without an
/// <c>#include</c> and generated code may call. It declares nothing NVRTC lacks, so a source that compiles here uses
/// only what NVRTC has; what it does not declare fails here as NVRTC would fail on the GPU.
/// <para>
/// Math functions call libdevice's <c>__nv_*</c> functions, as clang's <c>__clang_cuda_math.h</c> does; with
/// <c>-nocudalib</c> those stay external calls in the PTX, which is all a compile check needs. Atomics and fences map to
/// clang's <c>__nvvm_*</c> builtins. <c>__syncthreads()</c> is a clang builtin in CUDA mode and needs no declaration.
/// </para>
/// </summary>
public static class ClangCudaPrelude
{
    /// <summary>One-argument functions: <c>expf(float)</c> and <c>exp(double)</c> for each name.</summary>
    public static readonly string[] UnaryMath =
    [
        "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "cbrt", "fabs", "floor", "ceil", "rint",
        "trunc", "round", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf",
    ];

    /// <summary>Two-argument functions.</summary>
    public static readonly string[] BinaryMath = ["fmin", "fmax", "pow", "atan2", "copysign", "fmod", "hypot"];

    /// <summary>Three-argument functions.</summary>
    public static readonly string[] TernaryMath = ["fma"];

    /// <summary>The prelude's text.</summary>
    public static string Text { get; } = Build();

    private static string Build()
    {
        var text = new StringBuilder();
        text.Append("""
            // GpuAttention's clang prelude for generated CUDA C (Tests/Cuda/ClangCudaPrelude.cs).
            #define __global__ __attribute__((global))
            #define __device__ __attribute__((device))
            #define __host__ __attribute__((host))
            #define __shared__ __attribute__((shared))
            #define __constant__ __attribute__((constant))
            #define __forceinline__ __inline__ __attribute__((always_inline))
            #define __noinline__ __attribute__((noinline))
            #define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
            #include <__clang_cuda_builtin_vars.h>

            #define GA_DEVICE static __device__ __forceinline__

            """);

        text.AppendLine("// Math: float (name + f) and double, through libdevice.");
        foreach (string name in UnaryMath)
        {
            text.AppendLine($"extern \"C\" __device__ float __nv_{name}f(float); GA_DEVICE float {name}f(float x) {{ return __nv_{name}f(x); }}");
            text.AppendLine($"extern \"C\" __device__ double __nv_{name}(double); GA_DEVICE double {name}(double x) {{ return __nv_{name}(x); }}");
        }
        foreach (string name in BinaryMath)
        {
            text.AppendLine($"extern \"C\" __device__ float __nv_{name}f(float, float); GA_DEVICE float {name}f(float x, float y) {{ return __nv_{name}f(x, y); }}");
            text.AppendLine($"extern \"C\" __device__ double __nv_{name}(double, double); GA_DEVICE double {name}(double x, double y) {{ return __nv_{name}(x, y); }}");
        }
        foreach (string name in TernaryMath)
        {
            text.AppendLine($"extern \"C\" __device__ float __nv_{name}f(float, float, float); GA_DEVICE float {name}f(float x, float y, float z) {{ return __nv_{name}f(x, y, z); }}");
            text.AppendLine($"extern \"C\" __device__ double __nv_{name}(double, double, double); GA_DEVICE double {name}(double x, double y, double z) {{ return __nv_{name}(x, y, z); }}");
        }

        text.Append("""
            // min, max and abs overloads of the CUDA math API.
            GA_DEVICE int min(int a, int b) { return a < b ? a : b; }
            GA_DEVICE int max(int a, int b) { return a > b ? a : b; }
            GA_DEVICE unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
            GA_DEVICE unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
            GA_DEVICE long long min(long long a, long long b) { return a < b ? a : b; }
            GA_DEVICE long long max(long long a, long long b) { return a > b ? a : b; }
            GA_DEVICE unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
            GA_DEVICE unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
            GA_DEVICE float min(float a, float b) { return fminf(a, b); }
            GA_DEVICE float max(float a, float b) { return fmaxf(a, b); }
            GA_DEVICE double min(double a, double b) { return fmin(a, b); }
            GA_DEVICE double max(double a, double b) { return fmax(a, b); }
            GA_DEVICE int abs(int a) { return a < 0 ? -a : a; }
            GA_DEVICE long long llabs(long long a) { return a < 0 ? -a : a; }

            // Reinterpretation and conversion intrinsics.
            GA_DEVICE float __int_as_float(int x) { return __builtin_bit_cast(float, x); }
            GA_DEVICE int __float_as_int(float x) { return __builtin_bit_cast(int, x); }
            GA_DEVICE float __uint_as_float(unsigned int x) { return __builtin_bit_cast(float, x); }
            GA_DEVICE unsigned int __float_as_uint(float x) { return __builtin_bit_cast(unsigned int, x); }
            GA_DEVICE double __longlong_as_double(long long x) { return __builtin_bit_cast(double, x); }
            GA_DEVICE long long __double_as_longlong(double x) { return __builtin_bit_cast(long long, x); }
            extern "C" __device__ int __nv_float2int_rz(float);
            extern "C" __device__ unsigned int __nv_float2uint_rz(float);
            extern "C" __device__ long long __nv_float2ll_rz(float);
            extern "C" __device__ unsigned long long __nv_float2ull_rz(float);
            extern "C" __device__ int __nv_double2int_rz(double);
            extern "C" __device__ unsigned int __nv_double2uint_rz(double);
            extern "C" __device__ long long __nv_double2ll_rz(double);
            extern "C" __device__ unsigned long long __nv_double2ull_rz(double);
            GA_DEVICE int __float2int_rz(float x) { return __nv_float2int_rz(x); }
            GA_DEVICE unsigned int __float2uint_rz(float x) { return __nv_float2uint_rz(x); }
            GA_DEVICE long long __float2ll_rz(float x) { return __nv_float2ll_rz(x); }
            GA_DEVICE unsigned long long __float2ull_rz(float x) { return __nv_float2ull_rz(x); }
            GA_DEVICE int __double2int_rz(double x) { return __nv_double2int_rz(x); }
            GA_DEVICE unsigned int __double2uint_rz(double x) { return __nv_double2uint_rz(x); }
            GA_DEVICE long long __double2ll_rz(double x) { return __nv_double2ll_rz(x); }
            GA_DEVICE unsigned long long __double2ull_rz(double x) { return __nv_double2ull_rz(x); }

            // Correctly rounded arithmetic that is never contracted into an FMA.
            GA_DEVICE float __fadd_rn(float a, float b) { return a + b; }
            GA_DEVICE float __fsub_rn(float a, float b) { return a - b; }
            GA_DEVICE float __fmul_rn(float a, float b) { return a * b; }
            GA_DEVICE double __dadd_rn(double a, double b) { return a + b; }
            GA_DEVICE double __dsub_rn(double a, double b) { return a - b; }
            GA_DEVICE double __dmul_rn(double a, double b) { return a * b; }

            // Fences (__syncthreads() is a clang builtin).
            GA_DEVICE void __threadfence_block() { __nvvm_membar_cta(); }
            GA_DEVICE void __threadfence() { __nvvm_membar_gl(); }
            GA_DEVICE void __threadfence_system() { __nvvm_membar_sys(); }

            // Atomics on global or shared memory; each returns the old value.
            GA_DEVICE int atomicAdd(int* p, int v) { return __nvvm_atom_add_gen_i(p, v); }
            GA_DEVICE unsigned int atomicAdd(unsigned int* p, unsigned int v) { return (unsigned int)__nvvm_atom_add_gen_i((int*)p, (int)v); }
            GA_DEVICE unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return (unsigned long long)__nvvm_atom_add_gen_ll((long long*)p, (long long)v); }
            GA_DEVICE float atomicAdd(float* p, float v) { return __nvvm_atom_add_gen_f(p, v); }
            GA_DEVICE double atomicAdd(double* p, double v) { return __nvvm_atom_add_gen_d(p, v); }
            GA_DEVICE int atomicMax(int* p, int v) { return __nvvm_atom_max_gen_i(p, v); }
            GA_DEVICE unsigned int atomicMax(unsigned int* p, unsigned int v) { return __nvvm_atom_max_gen_ui(p, v); }
            GA_DEVICE long long atomicMax(long long* p, long long v) { return __nvvm_atom_max_gen_ll(p, v); }
            GA_DEVICE unsigned long long atomicMax(unsigned long long* p, unsigned long long v) { return __nvvm_atom_max_gen_ull(p, v); }
            GA_DEVICE int atomicMin(int* p, int v) { return __nvvm_atom_min_gen_i(p, v); }
            GA_DEVICE unsigned int atomicMin(unsigned int* p, unsigned int v) { return __nvvm_atom_min_gen_ui(p, v); }
            GA_DEVICE long long atomicMin(long long* p, long long v) { return __nvvm_atom_min_gen_ll(p, v); }
            GA_DEVICE unsigned long long atomicMin(unsigned long long* p, unsigned long long v) { return __nvvm_atom_min_gen_ull(p, v); }
            GA_DEVICE int atomicExch(int* p, int v) { return __nvvm_atom_xchg_gen_i(p, v); }
            GA_DEVICE unsigned int atomicExch(unsigned int* p, unsigned int v) { return (unsigned int)__nvvm_atom_xchg_gen_i((int*)p, (int)v); }
            GA_DEVICE unsigned long long atomicExch(unsigned long long* p, unsigned long long v) { return (unsigned long long)__nvvm_atom_xchg_gen_ll((long long*)p, (long long)v); }
            GA_DEVICE float atomicExch(float* p, float v) { return __int_as_float(__nvvm_atom_xchg_gen_i((int*)p, __float_as_int(v))); }
            GA_DEVICE int atomicCAS(int* p, int compare, int v) { return __nvvm_atom_cas_gen_i(p, compare, v); }
            GA_DEVICE unsigned int atomicCAS(unsigned int* p, unsigned int compare, unsigned int v) { return (unsigned int)__nvvm_atom_cas_gen_i((int*)p, (int)compare, (int)v); }
            GA_DEVICE unsigned long long atomicCAS(unsigned long long* p, unsigned long long compare, unsigned long long v) { return (unsigned long long)__nvvm_atom_cas_gen_ll((long long*)p, (long long)compare, (long long)v); }

            #undef GA_DEVICE

            """);
        return text.ToString();
    }
}
