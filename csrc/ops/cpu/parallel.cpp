#include "ops/cpu/parallel.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace arniqa_edge::cpu {
namespace {

class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }

  int workers() const { return static_cast<int>(threads_.size()); }

  // Runs task(i) for i in [0, count) on the workers and the calling thread.
  void run(int count, const std::function<void(int)>& task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      count_ = count;
      next_ = 0;
      unfinished_ = count;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return unfinished_ == 0; });
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

  // Held by the caller that owns the pool for one parallel_for.
  std::mutex& busy() { return busy_; }

 private:
  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      lock.unlock();
      drain();
      lock.lock();
    }
  }

  // Claims and runs tasks until none are left.
  void drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (task_ != nullptr && next_ < count_) {
      const int index = next_++;
      const std::function<void(int)>* task = task_;
      lock.unlock();
      std::exception_ptr error;
      try {
        (*task)(index);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error && !error_) error_ = error;
      if (--unfinished_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* task_ = nullptr;
  int count_ = 0;
  int next_ = 0;
  int unfinished_ = 0;
  uint64_t generation_ = 0;
  std::exception_ptr error_;
};

// One pool per process. It is never destroyed (its threads would have to be joined
// during interpreter shutdown), and a forked child, which inherits the object but
// not the threads, builds its own.
ThreadPool& pool() {
  static std::mutex mutex;
  static ThreadPool* instance = nullptr;
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (instance == nullptr || owner != getpid()) {
    instance = new ThreadPool(available_cores() - 1);
    owner = getpid();
  }
  return *instance;
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(int64_t n, int num_threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t threads = num_threads > 0 ? num_threads : available_cores();
  threads = std::min(threads, n);
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  ThreadPool& workers = pool();
  std::unique_lock<std::mutex> busy(workers.busy(), std::try_to_lock);
  if (!busy.owns_lock() || workers.workers() == 0) {
    fn(0, n);
    return;
  }
  workers.run(static_cast<int>(threads), [&](int chunk) {
    fn(n * chunk / threads, n * (chunk + 1) / threads);
  });
}

}  // namespace arniqa_edge::cpu
