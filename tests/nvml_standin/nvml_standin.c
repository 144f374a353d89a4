/*
 * A stand-in for the NVIDIA driver's libnvidia-ml.so.1, for tests: the NVML symbols evalclient's monitor
 * reaches through nvidia-ml-py, with the C ABI of nvml.h and readings scripted from a text file.
 *
 * The file is named by $NVML_STANDIN_SCRIPT and read when NVML is initialised (reference count 0 -> 1).
 * One directive per line, '#' starts a comment:
 *
 *   init <rc>...                     return code of each nvmlInit call, in order (0, or !<code>)
 *   count <n>                        number of GPUs
 *   name <gpu> <text to end of line>
 *   <key> <gpu> <entry>...           the readings of successive calls of one query on one GPU
 *
 * An entry is the value the call returns, or !<code> for an NVML return code (e.g. !3 Not Supported,
 * !15 GPU is lost); the last entry repeats once the calls outrun the list; a key that is not scripted
 * answers NVML_ERROR_NOT_SUPPORTED. Keys and their entry forms:
 *
 *   memory               <total>/<reserved>/<used> bytes, for both memory calls (v2 semantics: `used`
 *                        excludes `reserved`; the v1 call reports used + reserved as used)
 *   memory_v1, memory_v2 the same, for one call only (overrides `memory`)
 *   utilization          <gpu %>/<memory %>
 *   temperature          degrees C
 *   power                mW
 *   energy               mJ since the driver loaded
 *   clock_graphics, clock_sm, clock_mem, clock_video   MHz
 *   clocks_event_reasons bit mask (also answers the deprecated throttle-reasons call)
 *   clocks_throttle_reasons   override for the deprecated call
 *   processes            <pid>:<bytes>[,<pid>:<bytes>...], or - for none; bytes "na" = not available
 *                        (a call that only asks for the size does not move on to the next entry)
 *   processes_v2, processes_v3   override for one call
 *
 * Read positions are per key and GPU, shared by the calls that read a key (memory v1 and v2), and start
 * again at every initialisation.
 *
 * Every call is counted per function and GPU; when NVML shuts down (reference count 1 -> 0) the counts
 * are appended to $NVML_STANDIN_CALLS, if set, as "<session> <function> <gpu> <count>" lines.
 * All state is behind one mutex: the library may be called from several threads.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

#define NVML_VALUE_NOT_AVAILABLE_ULL 0xFFFFFFFFFFFFFFFFULL
#define NVML_NO_INSTANCE 0xFFFFFFFFu

/* The structs exactly as nvml.h lays them out. */
typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t; /* nvmlProcessInfo_v2_t: what the _v2 and _v3 process calls fill */

_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t");
_Static_assert(offsetof(nvmlMemory_v2_t, total) == 8, "nvmlMemory_v2_t.total");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_v2_t");
_Static_assert(offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8, "nvmlProcessInfo_v2_t.usedGpuMemory");

/* NVML_STRUCT_VERSION(Memory, 2): the struct size with the version in the top byte. */
#define NVML_MEMORY_V2 ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

#define MAX_GPUS 16
#define MAX_FUNCS 32

typedef struct nvmlDevice_st {
    unsigned int index;
} *nvmlDevice_t;

typedef struct {
    char *key;
    int gpu; /* -1: not per GPU */
    int n;
    char **entries;
} Series;

typedef struct {
    const char *function;
    unsigned long counts[MAX_GPUS + 1]; /* [MAX_GPUS]: calls without a GPU */
} CallCount;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvmlDevice_st devices[MAX_GPUS];
static Series *series;
static int n_series;
static unsigned int gpu_count;
static char names[MAX_GPUS][96];
static int refcount;
static unsigned long init_calls;
static unsigned long session;
static CallCount calls[MAX_FUNCS];
static int n_calls;
/* Per-series read positions, reset at every initialisation. */
static int *positions;

static void forget_script(void) {
    for (int i = 0; i < n_series; i++) {
        for (int j = 0; j < series[i].n; j++) free(series[i].entries[j]);
        free(series[i].entries);
        free(series[i].key);
    }
    free(series);
    free(positions);
    series = NULL;
    positions = NULL;
    n_series = 0;
    gpu_count = 0;
    memset(names, 0, sizeof names);
}

static char *next_token(char **cursor) {
    char *p = *cursor;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0') return NULL;
    char *start = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    if (*p) *p++ = '\0';
    *cursor = p;
    return start;
}

static void add_series(const char *key, int gpu, char *rest) {
    Series s = {strdup(key), gpu, 0, NULL};
    for (char *tok; (tok = next_token(&rest)) != NULL;) {
        s.entries = realloc(s.entries, sizeof(char *) * (size_t)(s.n + 1));
        s.entries[s.n++] = strdup(tok);
    }
    series = realloc(series, sizeof(Series) * (size_t)(n_series + 1));
    series[n_series++] = s;
}

/* Read the script; returns 0, or -1 when there is none (the "driver" is then not loaded). */
static int load_script(void) {
    forget_script();
    const char *path = getenv("NVML_STANDIN_SCRIPT");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return -1;
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *cursor = line;
        char *key = next_token(&cursor);
        if (!key) continue;
        if (strcmp(key, "init") == 0) {
            add_series(key, -1, cursor);
        } else if (strcmp(key, "count") == 0) {
            char *n = next_token(&cursor);
            gpu_count = n ? (unsigned int)strtoul(n, NULL, 0) : 0;
            if (gpu_count > MAX_GPUS) gpu_count = MAX_GPUS;
        } else {
            char *gpu = next_token(&cursor);
            if (!gpu) continue;
            int index = (int)strtol(gpu, NULL, 0);
            if (index < 0 || index >= MAX_GPUS) continue;
            if (strcmp(key, "name") == 0) {
                while (*cursor == ' ' || *cursor == '\t') cursor++;
                snprintf(names[index], sizeof names[index], "%s", cursor);
            } else {
                add_series(key, index, cursor);
            }
        }
    }
    fclose(f);
    positions = calloc((size_t)(n_series ? n_series : 1), sizeof(int));
    return 0;
}

static void count_call(const char *function, int gpu) {
    int i = 0;
    while (i < n_calls && strcmp(calls[i].function, function) != 0) i++;
    if (i == n_calls) {
        if (n_calls == MAX_FUNCS) return;
        calls[n_calls].function = function;
        memset(calls[n_calls].counts, 0, sizeof calls[n_calls].counts);
        n_calls++;
    }
    calls[i].counts[gpu < 0 ? MAX_GPUS : gpu]++;
}

static void write_counts(void) {
    const char *path = getenv("NVML_STANDIN_CALLS");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) return;
    for (int i = 0; i < n_calls; i++)
        for (int g = 0; g <= MAX_GPUS; g++)
            if (calls[i].counts[g])
                fprintf(f, "%lu %s %d %lu\n", session, calls[i].function, g == MAX_GPUS ? -1 : g,
                        calls[i].counts[g]);
    fclose(f);
}

static int find_series(const char *key, int gpu) {
    for (int i = 0; i < n_series; i++)
        if (series[i].gpu == gpu && strcmp(series[i].key, key) == 0) return i;
    return -1;
}

/* The series answering `key` (or `override`, when scripted) on `gpu`; -1 if not scripted. */
static int series_for(const char *override, const char *key, int gpu) {
    int i = override ? find_series(override, gpu) : -1;
    if (i < 0) i = find_series(key, gpu);
    return (i >= 0 && series[i].n > 0) ? i : -1;
}

/* The entry the next reading of series `i` returns, without moving on; NULL for i = -1. */
static const char *peek(int i) {
    if (i < 0) return NULL;
    return series[i].entries[positions[i] < series[i].n ? positions[i] : series[i].n - 1];
}

/* The entry for this call of `key` (or `override`) on `gpu`, moving on to the next; NULL if not scripted. */
static const char *take(const char *override, const char *key, int gpu) {
    int i = series_for(override, key, gpu);
    const char *entry = peek(i);
    if (i >= 0) positions[i]++;
    return entry;
}

/* 0 when `entry` is a value, else the scripted return code (NOT_SUPPORTED when not scripted). */
static nvmlReturn_t entry_code(const char *entry) {
    if (!entry) return NVML_ERROR_NOT_SUPPORTED;
    if (entry[0] == '!') return (nvmlReturn_t)strtol(entry + 1, NULL, 0);
    return NVML_SUCCESS;
}

/* Up to `n` unsigned numbers separated by '/'. */
static void numbers(const char *entry, unsigned long long *out, int n) {
    const char *p = entry;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtoull(p, &end, 0);
        p = (*end == '/') ? end + 1 : end;
    }
}

/* Common prologue of a device query: lock, check the state and the handle, count the call. */
static nvmlReturn_t enter(const char *function, nvmlDevice_t device, int *gpu) {
    pthread_mutex_lock(&lock);
    int index = device ? (int)device->index : -1;
    count_call(function, index >= 0 && index < MAX_GPUS ? index : -1);
    if (refcount == 0) return NVML_ERROR_UNINITIALIZED;
    if (!device || device->index >= gpu_count || device != &devices[device->index])
        return NVML_ERROR_INVALID_ARGUMENT;
    *gpu = index;
    return NVML_SUCCESS;
}

static nvmlReturn_t leave(nvmlReturn_t rc) {
    pthread_mutex_unlock(&lock);
    return rc;
}

static nvmlReturn_t init(const char *function) {
    pthread_mutex_lock(&lock);
    count_call(function, -1);
    if (refcount > 0) {
        refcount++;
        return leave(NVML_SUCCESS);
    }
    if (load_script() != 0) return leave(NVML_ERROR_DRIVER_NOT_LOADED);
    int i = find_series("init", -1);
    if (i >= 0 && series[i].n > 0) {
        unsigned long at = init_calls < (unsigned long)series[i].n ? init_calls : (unsigned long)series[i].n - 1;
        init_calls++;
        nvmlReturn_t rc = entry_code(series[i].entries[at]);
        if (rc != NVML_SUCCESS) return leave(rc);
    }
    for (unsigned int g = 0; g < MAX_GPUS; g++) devices[g].index = g;
    n_calls = 0;
    count_call(function, -1);
    session++;
    refcount = 1;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlInit(void) { return init("nvmlInit"); }
nvmlReturn_t nvmlInit_v2(void) { return init("nvmlInit_v2"); }
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    return init("nvmlInitWithFlags");
}

nvmlReturn_t nvmlShutdown(void) {
    pthread_mutex_lock(&lock);
    count_call("nvmlShutdown", -1);
    if (refcount == 0) return leave(NVML_ERROR_UNINITIALIZED);
    if (--refcount == 0) write_counts();
    return leave(NVML_SUCCESS);
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
        case 0: return "Success";
        case 1: return "Uninitialized";
        case 2: return "Invalid Argument";
        case 3: return "Not Supported";
        case 4: return "Insufficient Permissions";
        case 5: return "Already Initialized";
        case 6: return "Not Found";
        case 7: return "Insufficient Size";
        case 8: return "Insufficient External Power";
        case 9: return "Driver Not Loaded";
        case 10: return "Timeout";
        case 11: return "Interrupt Request Issue";
        case 12: return "NVML Shared Library Not Found";
        case 13: return "Function Not Found";
        case 14: return "Corrupted infoROM";
        case 15: return "GPU is lost";
        case 16: return "GPU requires restart";
        case 17: return "The operating system has blocked the request.";
        case 18: return "RM has detected an NVML/RM version mismatch.";
        case 20: return "Insufficient Memory";
        case 21: return "No data";
        case 25: return "Argument version mismatch";
        default: return "Unknown Error";
    }
}

static nvmlReturn_t get_count(const char *function, unsigned int *count) {
    pthread_mutex_lock(&lock);
    count_call(function, -1);
    if (refcount == 0) return leave(NVML_ERROR_UNINITIALIZED);
    if (!count) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *count = gpu_count;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return get_count("nvmlDeviceGetCount", count); }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) { return get_count("nvmlDeviceGetCount_v2", count); }

static nvmlReturn_t get_handle(const char *function, unsigned int index, nvmlDevice_t *device) {
    pthread_mutex_lock(&lock);
    count_call(function, index < MAX_GPUS ? (int)index : -1);
    if (refcount == 0) return leave(NVML_ERROR_UNINITIALIZED);
    if (!device || index >= gpu_count) return leave(NVML_ERROR_INVALID_ARGUMENT);
    *device = &devices[index];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return get_handle("nvmlDeviceGetHandleByIndex", index, device);
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    return get_handle("nvmlDeviceGetHandleByIndex_v2", index, device);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    int gpu;
    nvmlReturn_t rc = enter("nvmlDeviceGetName", device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    const char *text = names[gpu][0] ? names[gpu] : "Stand-in GPU";
    if (!name || length < strlen(text) + 1) return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    memcpy(name, text, strlen(text) + 1);
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    int gpu;
    nvmlReturn_t rc = enter("nvmlDeviceGetMemoryInfo", device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    if (!memory) return leave(NVML_ERROR_INVALID_ARGUMENT);
    const char *entry = take("memory_v1", "memory", gpu);
    if ((rc = entry_code(entry)) != NVML_SUCCESS) return leave(rc);
    unsigned long long v[3];
    numbers(entry, v, 3);
    memory->total = v[0];
    memory->used = v[1] + v[2];
    memory->free = v[0] - memory->used;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    int gpu;
    nvmlReturn_t rc = enter("nvmlDeviceGetMemoryInfo_v2", device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    if (!memory) return leave(NVML_ERROR_INVALID_ARGUMENT);
    if (memory->version != NVML_MEMORY_V2) return leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    const char *entry = take("memory_v2", "memory", gpu);
    if ((rc = entry_code(entry)) != NVML_SUCCESS) return leave(rc);
    unsigned long long v[3];
    numbers(entry, v, 3);
    memory->total = v[0];
    memory->reserved = v[1];
    memory->used = v[2];
    memory->free = v[0] - v[1] - v[2];
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
    int gpu;
    nvmlReturn_t rc = enter("nvmlDeviceGetUtilizationRates", device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    if (!utilization) return leave(NVML_ERROR_INVALID_ARGUMENT);
    const char *entry = take(NULL, "utilization", gpu);
    if ((rc = entry_code(entry)) != NVML_SUCCESS) return leave(rc);
    unsigned long long v[2];
    numbers(entry, v, 2);
    utilization->gpu = (unsigned int)v[0];
    utilization->memory = (unsigned int)v[1];
    return leave(NVML_SUCCESS);
}

/* A query answering one unsigned number of `size` bytes. */
static nvmlReturn_t scalar(const char *function, const char *override, const char *key, nvmlDevice_t device,
                           void *out, size_t size) {
    int gpu;
    nvmlReturn_t rc = enter(function, device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    if (!out) return leave(NVML_ERROR_INVALID_ARGUMENT);
    const char *entry = take(override, key, gpu);
    if ((rc = entry_code(entry)) != NVML_SUCCESS) return leave(rc);
    unsigned long long value = strtoull(entry, NULL, 0);
    if (size == sizeof(unsigned int))
        *(unsigned int *)out = (unsigned int)value;
    else
        *(unsigned long long *)out = value;
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp) {
    if (sensor != 0) return NVML_ERROR_INVALID_ARGUMENT; /* only NVML_TEMPERATURE_GPU exists */
    return scalar("nvmlDeviceGetTemperature", NULL, "temperature", device, temp, sizeof *temp);
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    return scalar("nvmlDeviceGetPowerUsage", NULL, "power", device, power, sizeof *power);
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy) {
    return scalar("nvmlDeviceGetTotalEnergyConsumption", NULL, "energy", device, energy, sizeof *energy);
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int *clock) {
    static const char *const keys[] = {"clock_graphics", "clock_sm", "clock_mem", "clock_video"};
    if (type < 0 || type > 3) return NVML_ERROR_INVALID_ARGUMENT;
    return scalar("nvmlDeviceGetClockInfo", NULL, keys[type], device, clock, sizeof *clock);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long *reasons) {
    return scalar("nvmlDeviceGetCurrentClocksEventReasons", NULL, "clocks_event_reasons", device, reasons,
                  sizeof *reasons);
}

nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, unsigned long long *reasons) {
    return scalar("nvmlDeviceGetCurrentClocksThrottleReasons", "clocks_throttle_reasons",
                  "clocks_event_reasons", device, reasons, sizeof *reasons);
}

/* nvml.h's contract: with *count too small (NULL infos included) set *count and answer INSUFFICIENT_SIZE;
   with no process answer SUCCESS and *count = 0. */
static nvmlReturn_t processes(const char *function, const char *override, nvmlDevice_t device,
                              unsigned int *count, nvmlProcessInfo_t *infos) {
    int gpu;
    nvmlReturn_t rc = enter(function, device, &gpu);
    if (rc != NVML_SUCCESS) return leave(rc);
    if (!count) return leave(NVML_ERROR_INVALID_ARGUMENT);
    /* A call that only learns the size does not use the reading up: the next call gets the same one. */
    int i = series_for(override, "processes", gpu);
    const char *entry = peek(i);
    if ((rc = entry_code(entry)) != NVML_SUCCESS) {
        if (i >= 0) positions[i]++;
        return leave(rc);
    }
    unsigned int n = 0;
    if (strcmp(entry, "-") != 0) {
        n = 1;
        for (const char *p = entry; *p; p++) n += (*p == ',');
    }
    if (n > 0 && (!infos || *count < n)) {
        *count = n;
        return leave(NVML_ERROR_INSUFFICIENT_SIZE);
    }
    positions[i]++;
    *count = n;
    if (n == 0) return leave(NVML_SUCCESS);
    const char *p = entry;
    for (unsigned int k = 0; k < n; k++) {
        char *end;
        infos[k].pid = (unsigned int)strtoul(p, &end, 0);
        p = (*end == ':') ? end + 1 : end;
        if (strncmp(p, "na", 2) == 0) {
            infos[k].usedGpuMemory = NVML_VALUE_NOT_AVAILABLE_ULL;
            end = (char *)p + 2;
        } else {
            infos[k].usedGpuMemory = strtoull(p, &end, 0);
        }
        infos[k].gpuInstanceId = NVML_NO_INSTANCE;
        infos[k].computeInstanceId = NVML_NO_INSTANCE;
        p = (*end == ',') ? end + 1 : end;
    }
    return leave(NVML_SUCCESS);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos) {
    return processes("nvmlDeviceGetComputeRunningProcesses_v2", "processes_v2", device, count, infos);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *count,
                                                     nvmlProcessInfo_t *infos) {
    return processes("nvmlDeviceGetComputeRunningProcesses_v3", "processes_v3", device, count, infos);
}
