/** Words of the site's own interface, in each lesson language. */
import { languages, type Language } from '../lessons/schema.ts';

/** getStaticPaths of a page that exists once per language (/zh/…, /en/…). */
export function languagePaths() {
  return languages.map((lang) => ({ params: { lang } }));
}
import type { ErrorCode } from '../protocol/terminal.ts';

/** The learner's sentence for every error code: a new code without one fails the type check. */
type ErrorSentences = Record<ErrorCode, string>;

export const ui = {
  en: {
    siteTagline: 'Learn Docker by doing, in a real terminal.',
    lessons: 'Lessons',
    joinWorkshop: 'Join a workshop',
    steps: 'Steps',
    check: 'Check my work',
    checking: 'Checking…',
    done: 'Done',
    notDone: 'Not done yet',
    allDone: 'All steps done. Well done!',
    run: 'Run',
    runTitle: 'Type this command into the terminal',
    otherLanguage: '中文',
    terminal: 'Terminal',
    nodes: 'Nodes',
    showSolution: 'Show the solution',
    copy: 'Copy',
    copied: 'Copied',
    interrupt: 'Ctrl-C',
    interruptTitle: 'Stop the command running in the terminal (sends Ctrl-C)',
    stillRunning: 'A command is still running in {node}. Wait for the prompt, or stop it with Ctrl-C.',
    screenReader: 'Screen reader',
    screenReaderTitle: 'Let screen readers read the terminal output',
    tabMovesFocus: 'Tab leaves terminal',
    tabMovesFocusTitle: 'Tab and Shift+Tab move to the next or previous control instead of going to the shell (the key bar and Ctrl+I still send a Tab)',
    lessonTab: 'Lesson',
    keyBar: 'Keys a phone keyboard lacks',
    typeSolution: 'Type it into the terminal',
    historyBadge: 'from what you typed',
    historyNote: 'This step leaves nothing behind to inspect, so it is checked from your shell history.',
    buildsOn: 'This lesson builds on:',
    setupButton: 'Set it up for me',
    setupRunning: 'Setting up…',
    setupDone: 'Set up. You can start.',
    setupFailed: 'The setup failed:',
    progress: '{done} of {total} steps',
    ports: 'Ports',
    portTitle: 'Open in a new tab, through Slipway (only you can)',
    sharePort: 'Share',
    sharePortTitle: 'A link that others (your teacher) can open for an hour',
    portShared: 'Anyone with this link can open port {port} for an hour:',
    closeNotice: 'Close the message',
    status: {
      queued: 'The server is full. You are number {position} in line; your sandbox starts as soon as a place frees.',
      connecting: 'Connecting to your sandbox…',
      starting: 'Starting your sandbox…',
      'waiting-engine': 'Waiting for Docker inside your sandbox to start…',
      attaching: 'Opening a shell…',
      ready: 'Ready.',
      reconnecting: 'Connection lost. Reconnecting…',
      exited: 'The shell ended. Press Enter for a new one.',
    },
    errors: {
      ENGINE_UNAVAILABLE: 'The server cannot reach its Docker engine, so no sandbox can start. Please tell the person running this server.',
      OUT_OF_CAPACITY: 'Every sandbox on this server is in use. Please try again in a few minutes.',
      TOO_MANY: 'Too many sandboxes or terminals are open from your network address. Close some tabs, or ask the person running this server to raise the limit.',
      SANDBOX_MISSING: 'Your sandbox is gone. Reload the page to get a new one.',
      SANDBOX_FAILED: 'Your sandbox could not be started. Reload the page to try again.',
      BAD_MESSAGE: 'The terminal sent something the server did not understand.',
      UNKNOWN_LESSON: 'This lesson is not known to the server. Reload the page.',
      INTERNAL: 'Something went wrong on the server. Reload the page to try again.',
    },
  },
  zh: {
    siteTagline: '在真实的终端里动手学 Docker。',
    lessons: '课程',
    joinWorkshop: '加入工作坊',
    steps: '步骤',
    check: '检查我的操作',
    checking: '检查中…',
    done: '已完成',
    notDone: '尚未完成',
    allDone: '全部步骤已完成，做得好！',
    run: '运行',
    runTitle: '把这条命令输入终端',
    otherLanguage: 'English',
    terminal: '终端',
    nodes: '节点',
    showSolution: '查看答案',
    copy: '复制',
    copied: '已复制',
    interrupt: 'Ctrl-C',
    interruptTitle: '停止终端里正在运行的命令（发送 Ctrl-C）',
    stillRunning: '{node} 里还有命令在运行。请等出现提示符，或者用 Ctrl-C 停止它。',
    screenReader: '读屏模式',
    screenReaderTitle: '让读屏软件朗读终端输出',
    tabMovesFocus: 'Tab 键离开终端',
    tabMovesFocusTitle: 'Tab 和 Shift+Tab 移到下一个或上一个控件，而不发给 shell（按键栏和 Ctrl+I 仍然发送 Tab）',
    lessonTab: '课文',
    keyBar: '手机键盘上没有的按键',
    typeSolution: '输入到终端',
    historyBadge: '按输入记录检查',
    historyNote: '这一步不会留下可检查的结果，因此根据你的 shell 历史记录来检查。',
    buildsOn: '本课用到前面课程的成果：',
    setupButton: '帮我准备好',
    setupRunning: '正在准备…',
    setupDone: '已准备好，可以开始了。',
    setupFailed: '准备失败：',
    progress: '已完成 {done}/{total} 步',
    ports: '端口',
    portTitle: '通过 Slipway 在新标签页中打开（只有你能打开）',
    sharePort: '分享',
    sharePortTitle: '生成一个他人（如老师）一小时内可以打开的链接',
    portShared: '拿到这个链接的人在一小时内都能打开端口 {port}：',
    closeNotice: '关闭消息',
    status: {
      queued: '服务器已满。你在队列中排第 {position} 位，一有空位就会为你启动沙箱。',
      connecting: '正在连接你的沙箱…',
      starting: '正在启动你的沙箱…',
      'waiting-engine': '正在等待沙箱里的 Docker 启动…',
      attaching: '正在打开 shell…',
      ready: '准备就绪。',
      reconnecting: '连接已断开，正在重新连接…',
      exited: 'shell 已结束。按回车键打开一个新的。',
    },
    errors: {
      ENGINE_UNAVAILABLE: '服务器连不上它的 Docker 引擎，无法启动沙箱。请告知这台服务器的管理员。',
      OUT_OF_CAPACITY: '这台服务器上的沙箱已全部占用，请几分钟后再试。',
      TOO_MANY: '从你的网络地址打开的沙箱或终端太多了。请关闭一些标签页，或请服务器管理员提高上限。',
      SANDBOX_MISSING: '你的沙箱已不存在。刷新页面即可获得一个新的。',
      SANDBOX_FAILED: '你的沙箱未能启动。刷新页面再试一次。',
      BAD_MESSAGE: '终端发送了服务器无法理解的内容。',
      UNKNOWN_LESSON: '服务器不认识这一课。请刷新页面。',
      INTERNAL: '服务器出错了。刷新页面再试一次。',
    },
  },
} as const satisfies Record<Language, { errors: ErrorSentences } & Record<string, unknown>>;

export type UiStrings = (typeof ui)[Language];

export function otherLanguage(lang: Language): Language {
  return lang === 'zh' ? 'en' : 'zh';
}

/** A lesson's id is "<lang>/<slug>". */
export function splitLessonId(id: string): { lang: Language; slug: string } {
  const [lang, ...rest] = id.split('/');
  return { lang: lang === 'zh' ? 'zh' : 'en', slug: rest.join('/') };
}
