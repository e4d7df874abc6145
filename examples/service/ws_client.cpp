// nova-ws-client: a minimal WebSocket client for tests and the demo. Connects to
// ws://HOST:PORT/PATH with an optional bearer token, prints "connected" once the
// handshake succeeded, then every text message on its own line (flushed), and
// exits after COUNT messages or SECONDS (exit 1 on timeout or a refused handshake).
//   nova-ws-client HOST:PORT PATH [--token T] [--header 'Name: value'] [--count N] [--seconds S]
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nova-ws-client HOST:PORT PATH [--token T] [--header 'N: v'] [--count N] [--seconds S]\n");
    return 2;
  }
  std::string hp = argv[1], path = argv[2], token;
  std::vector<std::pair<std::string, std::string>> headers;
  int count = 1, seconds = 10;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--token") token = v;
    else if (a == "--count") count = std::stoi(v);
    else if (a == "--seconds") seconds = std::stoi(v);
    else if (a == "--header") {
      size_t c = v.find(':');
      headers.emplace_back(v.substr(0, c), v.substr(c + 2));
    }
  }
  size_t c = hp.rfind(':');
  std::string host = hp.substr(0, c), port = hp.substr(c + 1);
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  int got = 0, rc = 1;
  beast::flat_buffer buf;
  std::function<void()> read = [&] {
    ws.async_read(buf, [&](beast::error_code ec, size_t) {
      if (ec) return;
      std::cout << beast::buffers_to_string(buf.data()) << std::endl;
      buf.consume(buf.size());
      if (++got >= count) {
        rc = 0;
        ws.async_close(websocket::close_code::normal, [&](beast::error_code) { ioc.stop(); });
        return;
      }
      read();
    });
  };
  asio::ip::tcp::resolver resolver(ioc);
  auto eps = resolver.resolve(host, port);
  beast::get_lowest_layer(ws).connect(eps);
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
    for (auto& h : headers) req.set(h.first, h.second);
  }));
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, host + ":" + port, path, ec);
  if (ec) {
    std::cout << "refused " << res.result_int() << " " << res["X-Correlation-ID"] << std::endl;
    return 1;
  }
  std::cout << "connected " << res["X-Correlation-ID"] << std::endl;
  read();
  ioc.run_for(std::chrono::seconds(seconds));
  return rc;
}
