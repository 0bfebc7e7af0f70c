# Holds N WebSocket subscribers on a relay (or the NIO floor): user i, topic bench-0; counts reads.
import asyncio, json, sys, base64, os
N=int(sys.argv[1]); PORT=int(sys.argv[2])
count=0
async def sub(i):
    global count
    r,w=await asyncio.open_connection('127.0.0.1',PORT)
    body=json.dumps({"user_id":i}).encode()
    w.write(b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"%len(body)+body)
    head=await r.readuntil(b"\r\n\r\n"); n=int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    ans=json.loads(await r.readexactly(n)); url=ans["url"]; path=url.split(str(PORT),1)[1]
    w.close()
    r,w=await asyncio.open_connection('127.0.0.1',PORT)
    key=base64.b64encode(os.urandom(16)).decode()
    w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    await r.readuntil(b"\r\n\r\n")
    msg=json.dumps({"topics":["bench-0"]}).encode()
    mask=os.urandom(4); w.write(bytes([0x81,0x80|len(msg)])+mask+bytes(b^mask[j%4] for j,b in enumerate(msg)))
    while True:
        d=await r.read(65536)
        if not d: return
        count+=1
async def main():
    await asyncio.gather(*[sub(i) for i in range(N)], report())
async def report():
    while True:
        await asyncio.sleep(5); print("reads",count,flush=True)
asyncio.run(main())
