/** Words of the workshop pages (joining, the teacher's pages), in each lesson language. */
import type { Language } from '../lessons/schema.ts';

export interface TeachWords {
  joinTitle: string;
  joinIntro: string;
  code: string;
  yourName: string;
  yourNameHelp: string;
  join: string;
  joining: string;
  errors: Record<string, string>;
  teachTitle: string;
  signInIntro: string;
  teacherKey: string;
  signIn: string;
  signOut: string;
  workshops: string;
  noWorkshops: string;
  newWorkshop: string;
  title: string;
  lessonsToDo: string;
  seats: string;
  startsAt: string;
  minutes: string;
  allowRejoin: string;
  create: string;
  states: Record<'upcoming' | 'running' | 'ended', string>;
  dashboard: string;
  joinAt: string;
  endsAt: string;
  warm: string;
  pool: string;
  extend: string;
  end: string;
  confirmEnd: string;
  results: string;
  message: string;
  send: string;
  sent: string;
  waiting: string;
  learner: string;
  sandbox: string;
  sandboxStates: Record<'none' | 'queued' | 'starting' | 'ready', string>;
  outOfMemory: string;
  progress: string;
  stuck: string;
  stuckIdle: string;
  stuckFailing: string;
  actions: string;
  watch: string;
  reset: string;
  confirmReset: string;
  noLearners: string;
  online: string;
  offline: string;
  watchTitle: string;
  readOnly: string;
  noShell: string;
  live: string;
  reconnecting: string;
}

export const teachWords: Record<Language, TeachWords> = {
  en: {
    joinTitle: 'Join a workshop',
    joinIntro: 'Type the code your teacher shows and the name they will know you by. No account needed.',
    code: 'Workshop code',
    yourName: 'Your name',
    yourNameHelp: 'Lost your place? Type the same name again to get your sandbox and progress back.',
    join: 'Join',
    joining: 'Joining…',
    errors: {
      UNKNOWN_CODE: 'There is no workshop with that code. Check it with your teacher.',
      NAME_TAKEN: 'Someone in this workshop already has that name. Choose another, or ask your teacher.',
      FULL: 'Every seat in this workshop is taken. Ask your teacher.',
      ENDED: 'This workshop has ended.',
      BAD_KEY: 'That is not the teacher key.',
      NETWORK: 'The server could not be reached. Try again.',
    },
    teachTitle: 'Teaching',
    signInIntro: 'Teacher pages need the teacher key: `./slipway start` printed it on its first run, and it is kept in .slipway/teacher.key (or set with SLIPWAY_TEACHER_KEY).',
    teacherKey: 'Teacher key',
    signIn: 'Sign in',
    signOut: 'Sign out',
    workshops: 'Workshops',
    noWorkshops: 'No workshops yet.',
    newWorkshop: 'New workshop',
    title: 'Title',
    lessonsToDo: 'Lessons',
    seats: 'Seats',
    startsAt: 'Starts at',
    minutes: 'Length (minutes)',
    allowRejoin: 'Learners who lost their place may rejoin by name',
    create: 'Create',
    states: { upcoming: 'upcoming', running: 'running', ended: 'ended' },
    dashboard: 'Dashboard',
    joinAt: 'Join at',
    endsAt: 'Ends at',
    warm: 'Start sandboxes now',
    pool: '{pooled} sandboxes ready of {target}',
    extend: '+15 minutes',
    end: 'End the workshop',
    confirmEnd: "End the workshop now? Every learner's sandbox is removed; their progress stays.",
    results: 'Results (CSV)',
    message: 'Message to everyone',
    send: 'Send',
    sent: 'Sent; open pages that got it: {pages}.',
    waiting: '{count} waiting in line for a sandbox',
    learner: 'Learner',
    sandbox: 'Sandbox',
    sandboxStates: { none: 'none', queued: 'in line ({place})', starting: 'starting', ready: 'ready' },
    outOfMemory: 'out of memory at {time}: a program was killed at the sandbox limit',
    progress: 'Progress',
    stuck: 'Stuck?',
    stuckIdle: 'no progress for {minutes} min',
    stuckFailing: '{lesson}: "{step}" failed {count} times',
    actions: 'Actions',
    watch: 'Watch',
    reset: 'Reset sandbox',
    confirmReset: "Remove {name}'s sandbox and give them a new one? Their progress stays.",
    noLearners: 'Nobody has joined yet.',
    online: 'page open',
    offline: 'page closed',
    watchTitle: "{name}'s terminal",
    readOnly: 'Read-only: you see what the learner sees; what you type does not reach them.',
    noShell: 'No terminal open on this node right now. It shows up here when the learner opens one.',
    live: 'Live',
    reconnecting: 'Connection lost. Reconnecting…',
  },
  zh: {
    joinTitle: '加入工作坊',
    joinIntro: '输入老师给出的代码和你的名字（老师会用这个名字认出你）。不需要注册账号。',
    code: '工作坊代码',
    yourName: '你的名字',
    yourNameHelp: '换了浏览器或丢了进度？再输入同一个名字，就能找回你的沙箱和进度。',
    join: '加入',
    joining: '正在加入…',
    errors: {
      UNKNOWN_CODE: '没有这个代码的工作坊。请向老师确认代码。',
      NAME_TAKEN: '这个工作坊里已经有人用了这个名字。换一个名字，或者问问老师。',
      FULL: '这个工作坊的名额已满。请问问老师。',
      ENDED: '这个工作坊已经结束。',
      BAD_KEY: '教师密钥不对。',
      NETWORK: '连接不上服务器，请重试。',
    },
    teachTitle: '教学',
    signInIntro: '教师页面需要教师密钥：`./slipway start` 第一次运行时打印过它，它保存在 .slipway/teacher.key 中（也可以用 SLIPWAY_TEACHER_KEY 设置）。',
    teacherKey: '教师密钥',
    signIn: '登录',
    signOut: '退出',
    workshops: '工作坊',
    noWorkshops: '还没有工作坊。',
    newWorkshop: '新建工作坊',
    title: '标题',
    lessonsToDo: '课程',
    seats: '名额',
    startsAt: '开始时间',
    minutes: '时长（分钟）',
    allowRejoin: '允许丢失进度的学员用名字重新加入',
    create: '创建',
    states: { upcoming: '未开始', running: '进行中', ended: '已结束' },
    dashboard: '面板',
    joinAt: '加入地址',
    endsAt: '结束时间',
    warm: '现在启动沙箱',
    pool: '已就绪 {pooled} 个沙箱，目标 {target} 个',
    extend: '延长 15 分钟',
    end: '结束工作坊',
    confirmEnd: '现在结束工作坊吗？所有学员的沙箱都会被删除，进度会保留。',
    results: '结果（CSV）',
    message: '给所有人的消息',
    send: '发送',
    sent: '已发送到 {pages} 个打开的页面。',
    waiting: '{count} 人在排队等沙箱',
    learner: '学员',
    sandbox: '沙箱',
    sandboxStates: { none: '无', queued: '排队中（第 {place} 位）', starting: '启动中', ready: '就绪' },
    outOfMemory: '{time} 内存不足：有程序在沙箱内存上限处被终止',
    progress: '进度',
    stuck: '卡住了？',
    stuckIdle: '{minutes} 分钟没有进展',
    stuckFailing: '{lesson}：“{step}”已失败 {count} 次',
    actions: '操作',
    watch: '查看终端',
    reset: '重置沙箱',
    confirmReset: '删除 {name} 的沙箱并给他一个新的吗？进度会保留。',
    noLearners: '还没有人加入。',
    online: '页面已打开',
    offline: '页面已关闭',
    watchTitle: '{name} 的终端',
    readOnly: '只读：你看到的和学员看到的一样；你输入的内容不会发给学员。',
    noShell: '这个节点现在没有打开的终端。学员打开终端后会显示在这里。',
    live: '实时',
    reconnecting: '连接断开，正在重连…',
  },
};
