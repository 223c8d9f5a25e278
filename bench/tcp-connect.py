# Tries a TCP connection to HOST:PORT every INTERVAL_MS (each attempt a new socket, a short timeout)
# until one is accepted; prints that moment (epoch ms) and exits. Run in the client's namespace.
import socket, sys, time

host, port, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) / 1000
while True:
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect((host, port))
        print(f"{time.time() * 1000:.1f}", flush=True)
        s.close()
        break
    except OSError:
        s.close()
        time.sleep(interval)
