// A small, steady GPU load for the monitor's GPU test: holds MIB mebibytes of device memory and keeps every
// SM busy with a compute-bound kernel for SECONDS, then exits.
//
//   gpu_load SECONDS MIB [DEVICE]      prints "ready <pid>" once the memory is held, "done" at the end
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>
#include <unistd.h>

static void check(cudaError_t error, const char *what) {
    if (error != cudaSuccess) {
        std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(error));
        std::exit(1);
    }
}

__global__ void spin(float *data, size_t n, int rounds) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += stride) {
        float x = data[i];
        for (int r = 0; r < rounds; r++) x = x * 0.999f + 0.001f;
        data[i] = x;
    }
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
    size_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
    int device = argc > 3 ? std::atoi(argv[3]) : 0;
    check(cudaSetDevice(device), "cudaSetDevice");
    size_t bytes = mib << 20;
    float *data = nullptr;
    check(cudaMalloc(&data, bytes), "cudaMalloc");
    check(cudaMemset(data, 0, bytes), "cudaMemset");
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    int sms = 0;
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    size_t n = bytes / sizeof(float);
    size_t touched = n < ((size_t)1 << 24) ? n : ((size_t)1 << 24);  // 64 MiB a launch: compute-bound
    std::printf("ready %d\n", (int)getpid());
    std::fflush(stdout);
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
        spin<<<sms * 8, 256>>>(data, touched, 2000);
        check(cudaGetLastError(), "spin");
        check(cudaDeviceSynchronize(), "spin");
    }
    check(cudaFree(data), "cudaFree");
    std::printf("done\n");
    return 0;
}
