// The seed tutorial's relay (warp's WebSocket example) in Go with net/http and gorilla/websocket,
// as a peer for `relay-gateway bench`: the same routes and JSON, one goroutine writer per
// connection with a bounded queue. Not part of the product; see scripts/peer-comparison.sh.
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o /tmp/go-seed benchmarks/go-seed/main.go
//	/tmp/go-seed -addr 127.0.0.1:8100
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

type client struct {
	userID int
	topics map[string]bool
	send   chan []byte
}

type relay struct {
	mu      sync.RWMutex
	clients map[string]*client
	addr    string
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (r *relay) health(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	n := len(r.clients)
	connected := 0
	for _, c := range r.clients {
		if c.send != nil {
			connected++
		}
	}
	r.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"connections":%d,"registrations":%d,"status":"ok"}`, connected, n)
}

func (r *relay) register(w http.ResponseWriter, req *http.Request) {
	var body struct {
		UserID *int `json:"user_id"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.UserID == nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	raw := make([]byte, 16)
	rand.Read(raw)
	id := hex.EncodeToString(raw)
	r.mu.Lock()
	r.clients[id] = &client{userID: *body.UserID, topics: map[string]bool{"cats": true}}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"url":"ws://%s/ws/%s"}`, r.addr, id)
}

func (r *relay) unregister(w http.ResponseWriter, req *http.Request) {
	id := strings.TrimPrefix(req.URL.Path, "/register/")
	r.mu.Lock()
	c, ok := r.clients[id]
	var send chan []byte
	if ok {
		send, c.send = c.send, nil
	}
	delete(r.clients, id)
	r.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"unknown client id"}`, http.StatusNotFound)
		return
	}
	if send != nil {
		close(send)
	}
	w.Write([]byte(`{"status":"unregistered"}`))
}

func (r *relay) publish(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Topic   string `json:"topic"`
		UserID  *int   `json:"user_id"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	frame := []byte(body.Message)
	recipients := 0
	r.mu.RLock()
	for _, c := range r.clients {
		if c.send == nil || !c.topics[body.Topic] || (body.UserID != nil && *body.UserID != c.userID) {
			continue
		}
		select {
		case c.send <- frame:
			recipients++
		default: // slow consumer: dropped
		}
	}
	r.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"recipients":%d}`, recipients)
}

func (r *relay) subscribe(w http.ResponseWriter, req *http.Request) {
	id := strings.TrimPrefix(req.URL.Path, "/ws/")
	r.mu.RLock()
	c, ok := r.clients[id]
	r.mu.RUnlock()
	if !ok {
		http.Error(w, `{"error":"unknown client id"}`, http.StatusNotFound)
		return
	}
	conn, err := upgrader.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	send := make(chan []byte, 1024)
	r.mu.Lock()
	c.send = send
	r.mu.Unlock()
	go func() {
		for frame := range send {
			if conn.WriteMessage(websocket.TextMessage, frame) != nil {
				break
			}
		}
		conn.Close()
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		text := strings.TrimSpace(string(data))
		if text == "ping" {
			select {
			case send <- []byte("pong"):
			default:
			}
			continue
		}
		var command struct {
			Topics []string `json:"topics"`
		}
		if json.Unmarshal(data, &command) == nil && command.Topics != nil {
			topics := map[string]bool{}
			for _, topic := range command.Topics {
				topics[topic] = true
			}
			r.mu.Lock()
			c.topics = topics
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	if c.send == send {
		c.send = nil
		close(send)
	}
	r.mu.Unlock()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8100", "listen address")
	flag.Parse()
	r := &relay{clients: map[string]*client{}, addr: *addr}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", r.health)
	mux.HandleFunc("/register", r.register)
	mux.HandleFunc("/register/", r.unregister)
	mux.HandleFunc("/publish", r.publish)
	mux.HandleFunc("/ws/", r.subscribe)
	fmt.Printf("listening address=%s\n", *addr)
	http.ListenAndServe(*addr, mux)
}
