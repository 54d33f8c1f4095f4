// dingtalk-jsapi ships CommonJS only; this IIFE bundle exposes it to plain pages as window.dd.
import * as dd from "dingtalk-jsapi";

window.dd = dd.default || dd;
