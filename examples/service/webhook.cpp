#include "webhook.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace svc {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

bool post_webhook(const std::string& url, const std::string& payload, const std::string& cid, int timeout_ms) {
  // http://host[:port][/path]
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash), target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon), port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);

  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  bool ok = false;
  auto deadline = std::chrono::milliseconds(timeout_ms);
  asio::ip::tcp::resolver resolver(ioc);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.set("X-Correlation-ID", cid);
  req.body() = payload;
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  // Asynchronous steps on a private io_context so that one deadline covers all of them.
  stream.expires_after(deadline);
  resolver.async_resolve(host, port, [&](beast::error_code ec, asio::ip::tcp::resolver::results_type r) {
    if (ec) return;
    stream.async_connect(r, [&](beast::error_code ec, const asio::ip::tcp::endpoint&) {
      if (ec) return;
      http::async_write(stream, req, [&](beast::error_code ec, size_t) {
        if (ec) return;
        http::async_read(stream, buf, res, [&](beast::error_code ec, size_t) {
          if (!ec) ok = res.result_int() >= 200 && res.result_int() < 300;
        });
      });
    });
  });
  ioc.run_for(deadline + std::chrono::milliseconds(100));
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return ok;
}

}  // namespace svc
